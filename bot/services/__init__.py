"""Transport-neutral services: the cogs and the side server call these and format their dataclasses."""
