# install rules (filled in by the foundation work)
