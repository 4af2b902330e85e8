// hostbake schema: the profile JSON Schema for editors (the same zod schema the loader uses).
import { renderJsonSchema } from '../profile/profileSchema.js'
import { writeAtomic } from '../write/outputWrite.js'
import { str, type VerbArgs } from './verb.js'

export async function run(args: VerbArgs): Promise<number> {
  const output = str(args.values.output)
  const text = renderJsonSchema()
  if (output === undefined || output === '-') process.stdout.write(text)
  else await writeAtomic(output, Buffer.from(text))
  return 0
}
