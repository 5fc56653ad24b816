"""Files of the studio: recent files, the unsaved-changes prompt, the template gallery, autosave and recovery."""
