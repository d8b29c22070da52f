"""The quantum lens: what the trained layer computes, in function space and in its states."""
