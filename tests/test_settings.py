"""``Settings``: keyword arguments, else ``JUNCTION_*`` variables, else defaults; values the
router cannot use refused with the variable's name."""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

import pytest

from junction.settings import Settings, SettingsError


@pytest.fixture(autouse=True)
def _no_junction_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("JUNCTION_"):
            monkeypatch.delenv(name)


def test_variables_are_read_in_any_case_and_keyword_arguments_win(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JUNCTION_PORT", " 9000 ")
    monkeypatch.setenv("junction_log_level", "DEBUG")
    monkeypatch.setenv("JUNCTION_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JUNCTION_MAX_BODY_BYTES", "1_000")
    monkeypatch.setenv("JUNCTION_LOG_FLUSH_INTERVAL", "2")
    monkeypatch.setenv("JUNCTION_DATABASE_URL", "")
    monkeypatch.setenv("JUNCTION_HOST", "0.0.0.0")
    settings = Settings(host="::1")
    assert settings.port == 9000 and settings.log_level == "DEBUG"
    assert settings.data_dir == tmp_path and isinstance(settings.data_dir, Path)
    assert settings.max_body_bytes == 1000
    assert settings.log_flush_interval == 2.0 and isinstance(settings.log_flush_interval, float)
    assert settings.database_url == "" and settings.resolved_database_url().startswith("sqlite")
    assert settings.host == "::1"
    assert Settings().redis_url is None and Settings().log_format == "auto"


TRUE_WORDS = ["1", "TRUE", "yes", "On", "t", "y"]
FALSE_WORDS = ["0", "false", "No", "off", "f", "n"]


@pytest.mark.parametrize(
    ("text", "value"), [(w, True) for w in TRUE_WORDS] + [(w, False) for w in FALSE_WORDS]
)
def test_flags_take_the_usual_words(
    monkeypatch: pytest.MonkeyPatch, text: str, value: bool
) -> None:
    monkeypatch.setenv("JUNCTION_ACCESS_LOG", text)
    assert Settings().access_log is value


@pytest.mark.parametrize(
    ("variable", "text", "says"),
    [
        ("JUNCTION_PORT", "abc", "a whole number"),
        ("JUNCTION_PORT", "80.5", "a whole number"),
        ("JUNCTION_PORT", "", "a whole number"),
        ("JUNCTION_ACCESS_LOG", "2", "a flag"),
        ("JUNCTION_REDIS_TIMEOUT", "soon", "a number"),
        ("JUNCTION_LOG_QUEUE_SIZE", "0", "at least 1"),
        ("JUNCTION_LOG_FLUSH_INTERVAL", "0", "more than 0"),
        ("JUNCTION_LOG_FORMAT", "JSON", "one of auto, json, text"),
        ("JUNCTION_LOG_LEVEL", "loud", "one of debug, info"),
    ],
)
def test_unusable_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, text: str, says: str
) -> None:
    monkeypatch.setenv(variable, text)
    with pytest.raises(SettingsError, match=f"^{variable}=.*{says}"):
        Settings()


def test_keyword_arguments_are_checked_too() -> None:
    with pytest.raises(SettingsError, match=r"^knowledge_workers=0: must be at least 1"):
        Settings(knowledge_workers=0)
    with pytest.raises(TypeError, match="no field prot"):
        Settings(prot=1)


def test_every_field_reads_its_default_back_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = Settings()
    for f in fields(Settings):
        value = getattr(defaults, f.name)
        if value is not None:
            monkeypatch.setenv("JUNCTION_" + f.name.upper(), str(value))
    assert Settings() == defaults
