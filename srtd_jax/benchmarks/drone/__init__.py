"""Multi-task drone navigation: the built-in simulator and the AirSim client."""
