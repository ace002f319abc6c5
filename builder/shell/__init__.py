"""The app shell: the server, sign-in, the shared engine, navigation and the home page."""
