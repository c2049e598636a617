//! Spark and Hadoop S3A configuration text for the AssumeRole flow, with no I/O.
