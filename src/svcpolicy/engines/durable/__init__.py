"""The durable-rules engine: the expression tree lowered to durable-rules conditions, and the adapter that runs them."""
