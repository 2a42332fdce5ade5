"""The HTTP edge of Guildhall: app factory, controllers, OAuth server, guards, CLI and worker."""
