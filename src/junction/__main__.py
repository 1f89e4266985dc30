from junction.cli.main import app

app()
