"""Where people meet the data: the community submissions service (``labeling.api``) and, later,
the Argilla review sync."""
