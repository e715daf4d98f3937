// nn.Parameter: a Tensor that a Module counts among its parameters.
import { Tensor } from '../tensor.js';

/**
 * A leaf tensor that shares memory with the tensor it was made from (as
 * PyTorch's Parameter does) and that Module recognises by its class.
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    if (!(data instanceof Tensor)) {
      throw new TypeError(`Parameter: expected a Tensor, got ${data === null ? 'null' : typeof data}`);
    }
    if (typeof requiresGrad !== 'boolean') throw new TypeError('Parameter: requiresGrad must be a boolean');
    super(data._storage, data._shape.slice(), data._strides.slice(), data._offset, data.dtype);
    // A parameter outlives any memory.scope that made its values.
    data._storage._pinned = true;
    this.requiresGrad_(requiresGrad);
  }

  override toString(): string {
    return `Parameter containing:\n${super.toString()}`;
  }
}
