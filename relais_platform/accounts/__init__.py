"""Users, authentication (passwords, two-factor, API tokens), invitations."""
