"""`clipforge make <kind> …`: the command line client of a clipforge server (command.py)."""
