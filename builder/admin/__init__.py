"""The Admin page: users, their sign-in and their API tokens."""
