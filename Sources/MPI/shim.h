// The MPI C interface for Swift. Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, …) are
// macros that take the address of library globals, which Swift cannot import; these functions
// hand them over as values.
#include <mpi.h>

static inline MPI_Comm nmt_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype nmt_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype nmt_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Op nmt_mpi_sum(void) { return MPI_SUM; }
static inline void *nmt_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler nmt_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Request nmt_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *nmt_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
