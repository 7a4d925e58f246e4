"""Knowledge base: read articles, chunk and embed them, search, answer, audit."""
