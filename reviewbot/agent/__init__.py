"""Agent mode (`context: agent`): the model reads and searches a read-only snapshot of the
reviewed code through bounded tool calls before it answers."""
