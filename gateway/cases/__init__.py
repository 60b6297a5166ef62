"""Cases: signals combined into a dossier that moves through the process steps."""
