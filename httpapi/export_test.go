package httpapi

// Routes lists the patterns New registered, in order.
func (a *API) Routes() []string { return append([]string(nil), a.routes...) }

// OpenAPIDoc is the document as kept in the repository.
var OpenAPIDoc = openapiDoc
