"""The real-time monitor: sequence rules over an event stream, with durable state."""
