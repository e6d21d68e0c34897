"""The app's screens: launcher, dashboard, dialogs (the inspector lives here too)."""
