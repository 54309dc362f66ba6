"""The closure engine: a pack compiled once into rule programs, aggregates and dated parameters, and the judgement."""
