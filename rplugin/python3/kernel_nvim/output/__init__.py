"""Pure: kernel output turned into highlighted lines, and the document they make."""
