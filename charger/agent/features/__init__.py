"""The agent's optional features, one module (or package) each (see AGENT-DESIGN)."""
