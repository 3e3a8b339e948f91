"""Reports: figures and tables written from results (contact sheet of the distortions, ...)."""
