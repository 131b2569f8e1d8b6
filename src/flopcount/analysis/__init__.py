"""Analysis passes over the IR: costing, aggregation, memory, roofline, hardware."""
