package api

import (
	"context"
	"net/http"
)

// The plain verbs on a resource addressed by its {id}. For most
// capabilities, reading, changing and deleting one object is a single call
// of its store between reading the request and writing the answer; the
// route table names that call (GET …/{id} → getByID(s.Schedules.Get, …)),
// so a request goes from its route straight to the store method that runs
// its SQL. Versioned resources answer with an ETag, and a change needs the
// If-Match it was read with (optimistic concurrency); each capability's
// API file has the ref that gives its objects' id and version.

// create answers POST to a collection: the body decoded into In, 201 with
// the new object, its ETag and its Location (at + id).
func create[In, T any](add func(context.Context, In) (T, error), at string, ref func(T) (id, version int64)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in In
		if err := decode(r, &in); err != nil {
			return err
		}
		out, err := add(r.Context(), in)
		if err != nil {
			return err
		}
		id, ver := ref(out)
		w.Header().Set("Location", at+itoa(id))
		return writeVersioned(w, http.StatusCreated, ver, out)
	}
}

// getByID answers GET …/{id}: the object and its ETag.
func getByID[T any](get func(context.Context, int64) (T, error), ref func(T) (id, version int64)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		out, err := get(r.Context(), id)
		if err != nil {
			return err
		}
		_, ver := ref(out)
		return writeVersioned(w, http.StatusOK, ver, out)
	}
}

// changeByID answers PUT or PATCH …/{id}: the body decoded into In, the
// version from If-Match, the changed object and its new ETag.
func changeByID[In, T any](change func(context.Context, int64, In, int64) (T, error), ref func(T) (id, version int64)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		ver, err := ifMatch(r)
		if err != nil {
			return err
		}
		var in In
		if err := decode(r, &in); err != nil {
			return err
		}
		out, err := change(r.Context(), id, in, ver)
		if err != nil {
			return err
		}
		_, now := ref(out)
		return writeVersioned(w, http.StatusOK, now, out)
	}
}

// deleteByID answers DELETE …/{id} (and the other calls that take only the
// id and answer nothing): 204.
func deleteByID(del func(context.Context, int64) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := del(r.Context(), id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
