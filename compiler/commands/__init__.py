"""The compiler's commands, one module each; `main` holds the click group that loads them."""
