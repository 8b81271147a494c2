/**
 * The start of the tests' PyFlink scripts: a streaming TableEnvironment `t` with two Python UDFs
 * registered, `level_of(line)` (the first word of a log line, lower-cased) and
 * `worker_python(line)` (the interpreter the Python worker runs in). The tests append their
 * source, sink and INSERT.
 */
export const PYTHON_UDFS_PRELUDE = String.raw`
import sys
from pyflink.table import DataTypes, EnvironmentSettings, TableEnvironment
from pyflink.table.udf import udf

@udf(result_type=DataTypes.STRING())
def level_of(line):
    return line.split(' ', 1)[0].lower()

@udf(result_type=DataTypes.STRING())
def worker_python(line):
    return sys.executable

t = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
t.create_temporary_function('level_of', level_of)
t.create_temporary_function('worker_python', worker_python)
`;
