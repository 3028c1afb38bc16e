"""One query module per aggregate (documents, runs, suggestions, reviews, labels, jobs, ...): plain functions over
`select()` that turn rows into domain objects. Callers import them through the `db.store` facade."""
