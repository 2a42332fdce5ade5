"""Co-design: programmes and qualifications, written by several organisations, approved, published."""
