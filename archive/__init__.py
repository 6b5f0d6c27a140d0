"""The archive of record: WARC files, extraction, the document store. Imports none of the other packages."""
