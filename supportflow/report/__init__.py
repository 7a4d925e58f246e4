"""Read-only views of the warehouse for people: status now, the leadership scorecard later."""
