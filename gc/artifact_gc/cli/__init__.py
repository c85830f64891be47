"""The `artifact-gc` command line: parse options, call the core, print. No decisions here."""
