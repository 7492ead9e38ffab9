"""Providers: small Protocols for what the pipelines need from the outside world (a script writer, a voice,
a picture), an offline implementation of each, and cloud clients behind the same Protocols."""
