"""NCRL (Zhou and Lee, IJCAI 2022): the none-class ranking loss with margin regularisation and shifting."""
from engine.model.methods.ncrl import method  # noqa: F401 - registers ncrl.v1
