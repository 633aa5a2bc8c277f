//! (filled in by #14)
