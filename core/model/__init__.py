"""The painting as data (floor 2): stroke geometry from parameters, the StrokeSet and
its JSON, colour spaces and the oil texture. Everything above draws from here."""
