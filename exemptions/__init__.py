"""The reference Medical exemptions service and the command line, built on generated/."""
