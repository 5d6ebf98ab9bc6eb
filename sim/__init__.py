"""womsim: word-of-mouth diffusion and the marketing circle of life on social graphs."""

__version__ = "0.1.0"
