"""Training from the studio: the run controls, the edit lock, canvas health and the glue to the main window."""
