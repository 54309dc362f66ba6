"""Records as bank systems export them: the record model, streaming readers with locators, and monitor events."""
