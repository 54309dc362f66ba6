"""What an evaluation produces, as plain data: findings, invalid records, counts, reports and gate decisions."""
