//! Region ingest: cut a sorted engine into region-sized ranges and Write + MultiIngest them.
