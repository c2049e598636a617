//! Live checks: placeholder while the reader lands.
