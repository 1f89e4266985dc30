"""Chat history: conversation identity, the write-behind store, resend detection, thinking."""
