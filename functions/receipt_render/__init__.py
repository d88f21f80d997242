"""receipt-render: receipts and invoices as deterministic PDFs in blob storage, linked in email."""
