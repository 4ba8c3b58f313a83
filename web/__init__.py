"""innoflow's web app: Flask UI and JSON API on top of the engine."""
