// Placeholder: replaced by the SWF reader.
