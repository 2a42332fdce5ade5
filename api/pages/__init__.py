"""HTML templates of the public credential pages (``api/controllers/verification.py`` renders them)."""
