"""The warninglists of this instance: which lists it uses, and the flags they put on stored indicators."""
