"""genstudio's Qt studio."""
